import { session } from './api.js';

// Sign-in with the IdP: OpenID Connect authorization code with PKCE (RFC 7636), the console as a
// public client. The ID token it gets is what the admin API verifies as an IdP token.

export interface OidcSettings {
  issuer: string;
  clientId: string;
  scopes: string;
}

const PENDING = 'codex-scim-console-oidc';
const redirectUri = () => `${location.origin}/console/`;

const b64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`the IdP's discovery document answered ${res.status}`);
  return (await res.json()) as Discovery;
}

export async function startSignIn(settings: OidcSettings): Promise<void> {
  const { authorization_endpoint } = await discover(settings.issuer);
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({ response_type: 'code', client_id: settings.clientId, redirect_uri: redirectUri(), scope: settings.scopes, state, code_challenge: challenge, code_challenge_method: 'S256' }).toString();
  location.assign(url.toString());
}

/** On the way back from the IdP: trades the code for tokens. Resolves false when this is no such return. */
export async function completeSignIn(settings: OidcSettings | null): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code || !settings) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', '/console/');
  if (!pending || params.get('state') !== pending.state) throw new Error('the sign-in answer does not match the request (state): sign in again');
  const { token_endpoint } = await discover(settings.issuer);
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(), client_id: settings.clientId, code_verifier: pending.verifier }),
  });
  if (!res.ok) throw new Error(`the IdP refused the sign-in (${res.status})`);
  const tokens = (await res.json()) as { id_token?: string };
  if (!tokens.id_token) throw new Error('the IdP returned no ID token');
  session.signIn(tokens.id_token);
  return true;
}
