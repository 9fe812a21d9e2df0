import { type AuthClient, GoogleAuth, OAuth2Client } from 'google-auth-library';
import { ConfigError, type GcpConfig } from '../config.ts';
import { GcpCompute } from '../compute/gcp.ts';
import { GcpDriver } from '../compute/gcp-driver.ts';

const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';

/**
 * The gcp driver as the settings describe it. The credentials are loaded here, once, and handed
 * to the client: left to find them itself, the client library rejects from inside a timer when
 * there are none, an unhandled rejection that ends the process on Node 20.
 */
export async function gcpDriverFromConfig(gcp: GcpConfig): Promise<{ driver: GcpDriver; close(): Promise<void> }> {
  const compute = new GcpCompute({
    project: gcp.project,
    zones: gcp.zones,
    machineType: gcp.machineType,
    image: gcp.image,
    network: gcp.network,
    apiEndpoint: gcp.apiEndpoint,
    authClient: await authClientFor(gcp),
    sshUser: gcp.sshUser,
    networkTags: gcp.networkTags,
  });
  const driver = new GcpDriver(compute, { sshUser: gcp.sshUser, sshPort: gcp.sshPort, gatewayPort: gcp.gatewayPort });
  return { driver, close: () => compute.close() };
}

async function authClientFor(gcp: GcpConfig): Promise<AuthClient> {
  if (gcp.accessToken) {
    // A fixed token: short-lived ones handed in by the operator, and stand-ins. Never refreshed.
    const client = new OAuth2Client();
    client.setCredentials({ access_token: gcp.accessToken });
    return client;
  }
  try {
    return await new GoogleAuth({ scopes: [COMPUTE_SCOPE] }).getClient();
  } catch (error) {
    // Said at start (exit 78, like every bad setting), before any fleet depends on them.
    throw new ConfigError([
      `GOOGLE_APPLICATION_CREDENTIALS: Google Cloud credentials could not be loaded (${(error as Error).message}); set it to a ` +
        'service account key file, run `gcloud auth application-default login`, or give a bearer token in FLEET_GCP_ACCESS_TOKEN',
    ]);
  }
}
