import type { TestServer } from './server.ts';

/** An email address no other test uses. */
export const uniqueEmail = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}@example.test`;

/**
 * A minimal cookie-keeping HTTP client standing in for one browser: it stores
 * the cookies the server sets and, like a browser, sends an Origin header on
 * requests that change something.
 */
export class UserAgent {
  private cookies = new Map<string, string>();

  constructor(private readonly server: TestServer) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(this.server.url + path, {
      method,
      redirect: 'manual',
      headers: {
        ...(body === undefined ? {} : { 'content-type': body instanceof URLSearchParams ? 'application/x-www-form-urlencoded' : 'application/json' }),
        ...(method === 'GET' || method === 'HEAD' ? {} : { origin: new URL(this.server.url).origin }),
        ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : body instanceof URLSearchParams ? body.toString() : JSON.stringify(body),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value.join('=') === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, body: json, text };
  }

  /** Posts a form, as a browser does from a page of the same origin. */
  form(path: string, fields: Record<string, string> = {}) {
    return this.request('POST', path, new URLSearchParams(fields));
  }

  cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Copies the cookies into a fresh agent: a second tab or device of the same session. */
  setCookieHeader(header: string) {
    for (const part of header.split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name) this.cookies.set(name, value.join('='));
    }
  }

  async signUp(email: string, name = email.split('@')[0]!, password = 'correct horse battery') {
    const response = await this.request('POST', '/api/auth/sign-up/email', { email, name, password });
    if (response.status !== 200) throw new Error(`sign-up failed: ${response.status} ${response.text}`);
    return response.body.user as { id: string; email: string };
  }

  async signIn(email: string, password = 'correct horse battery') {
    return this.request('POST', '/api/auth/sign-in/email', { email, password });
  }

  async createOrganization(name: string) {
    const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
    const response = await this.request('POST', '/api/auth/organization/create', { name, slug });
    if (response.status !== 200) throw new Error(`create organization failed: ${response.status} ${response.text}`);
    return response.body as { id: string; slug: string };
  }
}
