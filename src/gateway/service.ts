/** The gateway's service name on its machine (one gateway per machine). */
export const GATEWAY_SERVICE = 'openclaw-gateway';
