/**
 * The sample repository a first fleet can use on a machine without internet. Outside production the
 * control plane keeps it in a forge of its own under the data dir; this exact name, and nothing
 * else, is cloned from there (every other repo comes from FLEET_GIT_BASE_URL).
 */
export const SAMPLE_REPO = 'agent-fleet/sample';
