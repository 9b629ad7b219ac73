import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

const STYLE = `
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f1ec; }
  header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.5rem; background: #5b2a1b; color: #fff; }
  header a { color: #fff; }
  header .spacer { flex: 1; }
  main { max-width: 64rem; margin: 1.5rem auto; padding: 0 1.5rem; }
  section { background: #fff; border: 1px solid #ddd3c7; border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #efe9e1; vertical-align: top; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  form.inline { display: inline; }
  input, select, button, textarea { font: inherit; padding: .3rem .5rem; }
  textarea { width: 100%; }
  button { cursor: pointer; }
  .notice { background: #e8f5e9; border-color: #b5dcb8; }
  .error { background: #fdecea; border-color: #f3b9b2; }
  label { display: block; margin: .4rem 0; }
  code, pre { background: #efe9e1; padding: 0 .25rem; border-radius: 3px; white-space: pre-wrap; word-break: break-all; }
  .muted { color: #6b6258; }
`;

/** Page chrome of the admin console: visibly not the customer console. */
export function AdminLayout(props: { title: string; operator?: { email: string }; notice?: string; error?: string; children?: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Kommit admin`}</title>
          <style>{STYLE}</style>
        </head>
        <body>
          <header>
            <strong>Kommit admin</strong>
            {props.operator && <a href="/admin">Organizations</a>}
            {props.operator && <a href="/admin/audit">Audit chains</a>}
            {props.operator && <a href="/admin/deletions">Deletions</a>}
            {props.operator && <a href="/admin/jobs">Jobs</a>}
            {props.operator && <a href="/admin/webhooks">Webhook failures</a>}
            <span class="spacer" />
            {props.operator && <span data-testid="operator">{props.operator.email}</span>}
            {props.operator && (
              <form class="inline" method="post" action="/admin/sign-out">
                <button type="submit">Sign out</button>
              </form>
            )}
          </header>
          <main>
            {props.notice && <section class="notice" role="status">{props.notice}</section>}
            {props.error && <section class="error" role="alert">{props.error}</section>}
            <h1>{props.title}</h1>
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

export function bytes(n: number) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
