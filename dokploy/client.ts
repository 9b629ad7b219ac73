import { redactCredentials } from './redact.ts';

/**
 * Dokploy's HTTP API: every tRPC procedure is also `/api/<router>.<procedure>`,
 * queries as GET with their input in the query string, mutations as POST with
 * a JSON body, authenticated by an API key in `x-api-key`.
 */

export class DokployError extends Error {
  constructor(
    readonly procedure: string,
    readonly status: number,
    message: string,
  ) {
    // Dokploy's error texts may quote the input, such as a git URL with a token.
    super(`${procedure}: ${status} ${redactCredentials(message)}`);
  }
}

export interface DokployClientOptions {
  url: string;
  apiKey: string;
  /** Mutations are printed instead of sent (reads still happen). */
  dryRun?: boolean;
  /** Where dry-run calls are printed. */
  print?: (line: string) => void;
  fetch?: typeof fetch;
}

export type Input = Record<string, unknown>;

export class DokployClient {
  private dryRunIds = 0;
  constructor(private readonly options: DokployClientOptions) {}

  get dryRun() {
    return this.options.dryRun === true;
  }

  async query<T>(procedure: string, input: Record<string, string> = {}): Promise<T> {
    const url = new URL(`api/${procedure}`, this.base());
    for (const [name, value] of Object.entries(input)) url.searchParams.set(name, value);
    return this.send<T>(procedure, url, { method: 'GET' });
  }

  /** In a dry run: prints the call and answers `dryRunAnswer` (ids a real call would have returned are placeholders). */
  async mutate<T>(procedure: string, body: Input, dryRunAnswer?: (placeholder: string) => T): Promise<T> {
    if (this.dryRun) {
      // Printed, so without URL credentials (saveGitProvider's body has the git URL); sent as given.
      this.options.print?.(`POST /api/${procedure} ${redactCredentials(JSON.stringify(body))}`);
      return (dryRunAnswer?.(`<dry-run-${++this.dryRunIds}>`) ?? true) as T;
    }
    return this.send<T>(procedure, new URL(`api/${procedure}`, this.base()), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  private base() {
    return this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`;
  }

  private async send<T>(procedure: string, url: URL, init: RequestInit): Promise<T> {
    const doFetch = this.options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(url, { ...init, headers: { ...init.headers, accept: 'application/json', 'x-api-key': this.options.apiKey }, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new DokployError(procedure, 0, `cannot reach ${url.origin}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const text = await response.text();
    if (!response.ok) throw new DokployError(procedure, response.status, errorMessage(text));
    // Procedures that return nothing answer with an empty body.
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function errorMessage(body: string) {
  try {
    const parsed = JSON.parse(body) as { message?: string; issues?: { path?: unknown[]; message?: string }[] };
    const issues = parsed.issues?.map((i) => `${(i.path ?? []).join('.')}: ${i.message}`).join('; ');
    return [parsed.message, issues].filter(Boolean).join(' — ') || body.slice(0, 300);
  } catch {
    return body.slice(0, 300) || '(no body)';
  }
}
