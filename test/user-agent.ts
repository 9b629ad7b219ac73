import type { TestServer } from './server.ts';

/** An email address no other test uses. */
export const uniqueEmail = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}@example.test`;

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The one-line messages a console page shows (both consoles' layouts render them alike), as a reader sees them. */
export function shownMessages(html: string) {
  const shown = (kind: 'notice' | 'error') => {
    const text = new RegExp(`<section class="${kind}" role="(?:status|alert)">([^<]*)</section>`).exec(html)?.[1];
    return text?.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]!);
  };
  const notice = shown('notice');
  const error = shown('error');
  return { ...(notice === undefined ? {} : { notice }), ...(error === undefined ? {} : { error }) };
}

/** What UserAgent.request answers. */
export type AgentResponse = Awaited<ReturnType<UserAgent['request']>>;

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

  /**
   * Follows a redirect as a browser does (GET, with the cookies the redirect
   * set), through any further ones: the page it lands on, its path, and the
   * messages it shows.
   */
  async follow(redirect: AgentResponse) {
    let page = redirect;
    let path: string | undefined;
    for (let hops = 0; page.status >= 300 && page.status < 400; hops++) {
      if (hops === 5) throw new Error(`follow: more than 5 redirects, the last to ${path}`);
      const location = new URL(page.headers.get('location')!, this.server.url);
      path = location.pathname + location.search;
      page = await this.request('GET', path);
    }
    if (path === undefined) throw new Error(`follow: not a redirect but ${page.status}: ${page.text.slice(0, 200)}`);
    return { ...page, path, messages: shownMessages(page.text) };
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
