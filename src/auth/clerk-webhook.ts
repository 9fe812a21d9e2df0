import { verifyWebhook } from '@clerk/backend/webhooks';

/** A Clerk webhook delivery whose signature and timestamp were verified. */
export interface ClerkDelivery {
  /** The `svix-id` header: the same for every attempt at delivering one event. */
  deliveryId: string;
  type: string;
  /** What the event is about: the deleted organisation's or user's id, for the events we act on. */
  objectId: string | undefined;
}

/** A delivery that is not Clerk's, or not fresh: the message says which check failed. */
export class WebhookRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookRefused';
  }
}

/**
 * Verifies a delivery with Clerk's own `verifyWebhook` (Standard Webhooks / svix: an HMAC of id,
 * timestamp and body, and a timestamp within 5 minutes of now). `body` is the raw text exactly
 * as received: the signature covers those bytes.
 */
export async function verifyClerkDelivery(headers: Headers, body: string, signingSecret: string): Promise<ClerkDelivery> {
  const request = new Request('http://webhook.invalid/', { method: 'POST', headers, body });
  let event: Awaited<ReturnType<typeof verifyWebhook>>;
  try {
    event = await verifyWebhook(request, { signingSecret });
  } catch (e) {
    throw new WebhookRefused((e as Error).message);
  }
  const data = event.data as { id?: unknown };
  return {
    deliveryId: headers.get('svix-id')!.trim(),
    type: event.type,
    objectId: typeof data?.id === 'string' ? data.id : undefined,
  };
}
