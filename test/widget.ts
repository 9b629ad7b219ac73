import type { TestServer } from './server.ts';

export type SseEvent = { event: string; data: Record<string, unknown> };

/** Splits a complete text/event-stream body into its events (data parsed as JSON). */
export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
      return { event, data: JSON.parse(data) };
    });
}

/** Starts a widget conversation as widget.js does from a page on `origin`. */
export async function startConversation(server: TestServer, key: string, origin: string) {
  const response = await fetch(`${server.url}/widget/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ key }),
  });
  if (response.status !== 201) throw new Error(`conversation not started: ${response.status} ${await response.text()}`);
  return (await response.json()) as { conversationId: string; token: string };
}

/** Asks a question and reads the whole event stream: the answer's text, its sources, every event. */
export async function askWidget(server: TestServer, conversation: { conversationId: string; token: string }, question: string, origin: string) {
  const response = await fetch(`${server.url}/widget/v1/conversations/${conversation.conversationId}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${conversation.token}`, origin },
    body: JSON.stringify({ question }),
  });
  const events = response.headers.get('content-type')?.includes('text/event-stream') ? parseSse(await response.text()) : [];
  return {
    status: response.status,
    events,
    text: events.filter((e) => e.event === 'answer').map((e) => e.data.text).join(''),
    sources: events.filter((e) => e.event === 'source').map((e) => e.data as { n: number; title: string; url: string }),
  };
}
