/**
 * The chat widget customers embed: `<script src=".../widget.js" data-key="pk_..." async></script>`.
 * Plain browser JavaScript with no dependencies, kept as a string here (no
 * backticks inside) so the bundled server carries it without a file beside it.
 * It renders in a shadow root (the host page's CSS cannot break it, and it
 * cannot break the page), streams answers over fetch + SSE, shows citations as
 * links, keeps the conversation in localStorage, and works from the keyboard.
 * Every text it shows goes in through textContent, never as HTML.
 */
export const WIDGET_SCRIPT = String.raw`(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.dataset.key || window.__kommitWidget) return;
  window.__kommitWidget = true;
  var key = script.dataset.key;
  var api = new URL(script.src).origin + '/widget/v1';
  var storeKey = 'kommit-widget:' + key;
  var state = load() || { messages: [] };
  var busy = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || 'null'); } catch (e) { return null; }
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode: the conversation lasts this page only */ }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el('div', { id: 'kommit-widget' });
  var root = host.attachShadow({ mode: 'open' });
  var style = el('style');
  style.textContent =
    ':host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,sans-serif;color:#1f2328}' +
    '*{box-sizing:border-box}' +
    '.launcher{width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;background:var(--accent);color:var(--text);font-size:24px;box-shadow:0 4px 14px rgba(0,0,0,.25)}' +
    '.launcher:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #f0b400;outline-offset:2px}' +
    '.panel{position:absolute;right:0;bottom:70px;width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}' +
    '.panel[hidden]{display:none}' +
    'header{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;background:var(--accent);color:var(--text);font-weight:600}' +
    'header button{background:none;border:0;color:inherit;font-size:20px;cursor:pointer}' +
    'ol{list-style:none;margin:0;padding:12px;flex:1;overflow-y:auto}' +
    'li{margin:0 0 10px;padding:8px 10px;border-radius:10px;max-width:88%;white-space:pre-wrap;word-wrap:break-word}' +
    '.visitor{margin-left:auto;background:var(--accent);color:var(--text)}' +
    '.assistant{background:#f1f3f5}' +
    '.notice{background:#fff4e5;color:#7a4100;max-width:100%}' +
    '.sources{margin:6px 0 0;padding:0;font-size:12px}' +
    '.sources a{color:#0b57d0;display:block}' +
    'form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}' +
    'textarea{flex:1;resize:none;font:inherit;padding:6px 8px;border:1px solid #c9ced4;border-radius:8px}' +
    'form button{border:0;border-radius:8px;padding:0 14px;background:var(--accent);color:var(--text);cursor:pointer}' +
    'form button:disabled{opacity:.5;cursor:default}' +
    '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}';
  root.appendChild(style);

  var launcher = el('button', { class: 'launcher', type: 'button', 'aria-label': 'Open help chat', 'aria-expanded': 'false', 'aria-controls': 'kommit-panel' }, '?');
  var panel = el('section', { class: 'panel', id: 'kommit-panel', role: 'dialog', 'aria-label': 'Help chat', hidden: '' });
  var header = el('header', null);
  header.appendChild(el('span', null, 'Help'));
  var close = el('button', { type: 'button', 'aria-label': 'Close help chat' }, '\u00d7');
  header.appendChild(close);
  var log = el('ol', { 'aria-live': 'polite', 'aria-label': 'Conversation' });
  var form = el('form', null);
  var label = el('label', { for: 'kommit-question', class: 'sr' }, 'Your question');
  var input = el('textarea', { id: 'kommit-question', rows: '2', maxlength: '1000', placeholder: 'Ask a question' });
  var send = el('button', { type: 'submit' }, 'Send');
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);
  applyColours(state.widget);

  function applyColours(widget) {
    host.style.setProperty('--accent', (widget && widget.accentColor) || '#2f6feb');
    host.style.setProperty('--text', (widget && widget.textColor) || '#ffffff');
  }

  function safeUrl(url) {
    try { var u = new URL(url); return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null; } catch (e) { return null; }
  }

  function render(message) {
    var item = el('li', { class: message.role }, message.text);
    if (message.sources && message.sources.length) renderSources(item, message.sources);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }
  function renderSources(item, sources) {
    var old = item.querySelector('.sources');
    if (old) old.remove();
    var list = el('div', { class: 'sources' });
    list.appendChild(el('span', null, 'Sources:'));
    sources.forEach(function (s) {
      var href = safeUrl(s.url);
      if (!href) return;
      list.appendChild(el('a', { href: href, target: '_blank', rel: 'noopener noreferrer' }, '[' + s.n + '] ' + s.title));
    });
    item.appendChild(list);
  }
  function notice(text) {
    render({ role: 'notice', text: text });
  }
  function renderAll() {
    log.textContent = '';
    render({ role: 'assistant', text: (state.widget && state.widget.greeting) || 'Hi! Ask me anything.' });
    state.messages.forEach(render);
  }

  function tokenValid() {
    return state.token && Date.parse(state.expiresAt) - Date.now() > 30000;
  }

  function start() {
    var body = { key: key };
    if (script.dataset.visitorId && script.dataset.visitorSignature) body.visitor = { id: script.dataset.visitorId, signature: script.dataset.visitorSignature };
    return fetch(api + '/conversations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (response) {
        if (!response.ok) throw new Error('refused');
        return response.json();
      })
      .then(function (started) {
        state.token = started.token;
        state.expiresAt = started.expiresAt;
        state.conversationId = started.conversationId;
        state.widget = started.widget;
        applyColours(started.widget);
        save();
      });
  }

  // One start at a time: a question asked while the panel's own start is still
  // on its way waits for it instead of starting a second conversation.
  var starting = null;
  function ready() {
    if (tokenValid()) return Promise.resolve();
    if (!starting) {
      starting = start().then(
        function () { starting = null; },
        function (error) { starting = null; throw error; }
      );
    }
    return starting;
  }

  function refuse() {
    notice('This help chat is not available on this site.');
    input.disabled = true;
    send.disabled = true;
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    if (!log.childNodes.length) renderAll();
    input.focus();
    ready().then(function () {
      if (!state.messages.length) renderAll();
    }, refuse);
  }
  function shut() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  function ask(question) {
    busy = true;
    send.disabled = true;
    var asked = { role: 'visitor', text: question };
    state.messages.push(asked);
    render(asked);
    var answer = { role: 'assistant', text: '', sources: [] };
    var item = render({ role: 'assistant', text: '\u2026' });
    function finish() {
      busy = false;
      send.disabled = false;
      if (answer.text) {
        state.messages.push(answer);
        save();
      }
    }
    ready()
      .then(function () { return post(question); })
      .then(function (response) {
        if (response.status === 401) {
          // The token expired or was refused: one fresh conversation, then give up.
          state.token = null;
          return start().then(function () { return post(question); });
        }
        return response;
      })
      .then(function (response) {
        if (!response.ok) {
          var wait = response.headers.get('retry-after');
          throw new Error(response.status === 429 ? 'Too many questions at once; try again in ' + (wait || 'a few') + ' seconds.' : 'The question could not be answered.');
        }
        return stream(response, function (event, data) {
          if (event === 'answer') {
            answer.text += data.text;
            item.textContent = answer.text;
          } else if (event === 'source') {
            answer.sources.push(data);
          } else if (event === 'error') {
            answer.text += (answer.text ? '\n\n' : '') + data.message;
            item.textContent = answer.text;
          }
          if (answer.sources.length) renderSources(item, answer.sources);
          log.scrollTop = log.scrollHeight;
        });
      })
      .catch(function (error) {
        item.remove();
        notice(error && error.message && error.message !== 'refused' && error.message !== 'Failed to fetch' ? error.message : 'This help chat is not available right now.');
      })
      .then(finish);
  }

  function post(question) {
    return fetch(api + '/conversations/' + state.conversationId + '/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + state.token },
      body: JSON.stringify({ question: question }),
    });
  }

  function stream(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          var event = 'message';
          var data = '';
          block.split('\n').forEach(function (line) {
            if (line.indexOf('event:') === 0) event = line.slice(6).trim();
            else if (line.indexOf('data:') === 0) data += line.slice(5).trim();
          });
          try { onEvent(event, JSON.parse(data)); } catch (e) { /* a malformed event is skipped */ }
        }
        return pump();
      });
    }
    return pump();
  }

  launcher.addEventListener('click', function () { panel.hidden ? open() : shut(); });
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', function (event) { if (event.key === 'Escape') shut(); });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = '';
    ask(question);
  });

  (document.body || document.documentElement).appendChild(host);
  if (state.messages.length) renderAll();
})();
`;
