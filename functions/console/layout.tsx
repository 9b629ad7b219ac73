import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

const STYLE = `
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.5rem; background: #1d2330; color: #fff; }
  header a { color: #fff; }
  header .spacer { flex: 1; }
  main { max-width: 56rem; margin: 1.5rem auto; padding: 0 1.5rem; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #eef0f3; }
  form.inline { display: inline; }
  input, select, button { font: inherit; padding: .3rem .5rem; }
  button { cursor: pointer; }
  .notice { background: #e8f5e9; border-color: #b5dcb8; }
  .error { background: #fdecea; border-color: #f3b9b2; }
  label { display: block; margin: .4rem 0; }
  code { background: #eef0f3; padding: 0 .25rem; border-radius: 3px; }
`;

export function Layout(props: { title: string; user?: { email: string }; orgName?: string; notice?: string; error?: string; children?: Child }) {
  return (
    <>
    {raw('<!doctype html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Kommit console`}</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <header>
          <strong>Kommit</strong>
          {props.user && <a href="/console">Organizations</a>}
          {props.orgName && <a href="/console/projects">Projects</a>}
          {props.orgName && <a href="/console/members">Members</a>}
          {props.orgName && <a href="/console/webhooks">Webhooks</a>}
          {props.orgName && <a href="/console/controls">Controls</a>}
          {props.orgName && <a href="/console/audit">Audit</a>}
          <span class="spacer" />
          {props.orgName && <span data-testid="active-org">{props.orgName}</span>}
          {props.user && <span>{props.user.email}</span>}
          {props.user && (
            <form class="inline" method="post" action="/console/sign-out">
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
