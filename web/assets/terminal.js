// terminal.js drives the jobsshd terminal page: one xterm.js terminal attached to one
// login shell over the /terminal WebSocket. The protocol is described in
// web/terminal_protocol.go. The page loads nothing from anywhere but the agent.
(function () {
  'use strict';

  // The page's Content-Security-Policy allows styles only from the agent and from
  // <style> elements carrying this response's nonce (web/page.go). xterm.js creates
  // <style> elements for its theme and writes style attributes for 24-bit colours:
  // the first get the nonce, the second go through the CSSOM (element.style), which
  // the policy allows, so no 'unsafe-inline' is needed.
  const nonce = document.currentScript.nonce;
  const setAttribute = Element.prototype.setAttribute;
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (name, options) {
    const el = createElement.call(this, name, options);
    if (String(name).toLowerCase() === 'style') setAttribute.call(el, 'nonce', nonce);
    return el;
  };
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === 'style') {
      this.style.cssText = String(value);
      return;
    }
    return setAttribute.call(this, name, value);
  };

  const MSG_DATA = 0, MSG_RESIZE = 1, MSG_ACK = 2;
  const PASTE_CHUNK = 32 * 1024; // below the agent's 64 KiB message limit
  const ACK_EVERY = 16 * 1024;   // well below the agent's 64 KiB flow window
  // Close codes after which reconnecting cannot help (web/terminal_protocol.go).
  const FINAL = {
    1003: 'the agent refused a message',
    1007: 'the agent refused a message',
    1009: 'the agent refused a message that was too large',
    4400: 'the agent refused the request',
    4404: 'this terminal has ended or waited too long for a reconnect — reload the page for a new one',
    4409: 'this terminal was taken over by another connection',
    4429: 'no terminal could be started',
  };

  const statusEl = document.getElementById('status');
  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  const term = new Terminal({ cursorBlink: true, scrollback: 10000, fontFamily: 'monospace' });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById('terminal'));
  fit.fit();
  term.focus();

  let ws = null;
  let session = '';    // the shell's id, once attached; kept only in this tab
  let received = 0;    // output bytes received from the shell, over all sockets
  let processed = 0;   // of those, written into the terminal
  let acked = 0;       // the offset last acknowledged to the agent
  let attempts = 0;    // failed connects since the last attach
  let connects = 0;    // attaches, for tests
  let ended = false;
  let retryTimer = 0;
  let dropped = '';    // the agent's reason for dropping input (4413), until the next keystroke
  let lastClose = null; // the last socket's close code and reason, for tests
  const encoder = new TextEncoder();

  // A hook for the browser tests and for debugging from the console.
  window.jobsshd = { term, state: () => ({ session, received, processed, connects, ended, lastClose }) };

  function send(type, payload) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    const msg = new Uint8Array(1 + payload.length);
    msg[0] = type;
    msg.set(payload, 1);
    ws.send(msg);
    return true;
  }
  function sendData(bytes) {
    for (let i = 0; i < bytes.length; i += PASTE_CHUNK) send(MSG_DATA, bytes.subarray(i, i + PASTE_CHUNK));
  }
  function sendResize(cols, rows) {
    const p = new Uint8Array(4);
    const v = new DataView(p.buffer);
    v.setUint16(0, cols);
    v.setUint16(2, rows);
    send(MSG_RESIZE, p);
  }
  function maybeAck() {
    if (processed - acked < ACK_EVERY) return;
    const p = new Uint8Array(8);
    new DataView(p.buffer).setBigUint64(0, BigInt(processed));
    if (send(MSG_ACK, p)) acked = processed;
  }

  // The status bar says input was dropped until the user types again: a reconnect
  // would otherwise replace the reason within a second, before anyone read it.
  function typed() {
    if (!dropped) return;
    dropped = '';
    if (ws && ws.readyState === WebSocket.OPEN) setStatus('connected', 'connected');
  }
  term.onData((s) => { typed(); sendData(encoder.encode(s)); });
  term.onBinary((s) => sendData(Uint8Array.from(s, (c) => c.charCodeAt(0) & 255)));
  term.onResize(({ cols, rows }) => sendResize(cols, rows));
  new ResizeObserver(() => fit.fit()).observe(document.getElementById('terminal'));

  // Ctrl+Shift+C copies the selection and Ctrl+Shift+V pastes, as in most terminals
  // (Ctrl+C and Ctrl+V go to the shell). The clipboard API needs a secure context;
  // elsewhere the browser's copy command reaches xterm.js's own copy handler.
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
    if (e.code === 'KeyC') {
      if (term.hasSelection()) {
        if (navigator.clipboard) navigator.clipboard.writeText(term.getSelection()).catch(() => document.execCommand('copy'));
        else document.execCommand('copy');
      }
      return false;
    }
    return e.code !== 'KeyV'; // the browser's paste event follows and xterm.js takes it
  });

  function onOutput(buf) {
    const data = new Uint8Array(buf);
    received += data.length;
    term.write(data, () => {
      processed += data.length;
      maybeAck();
    });
  }

  function onEvent(e) {
    if (e.type === 'attached') {
      if (e.offset !== received) {
        term.write('\r\n\x1b[33m[jobsshd: some output was lost while disconnected]\x1b[0m\r\n');
        received = processed = e.offset;
      }
      session = e.session;
      acked = e.offset;
      attempts = 0;
      connects++;
      setStatus('connected', dropped ? 'connected — ' + dropped : 'connected');
    } else if (e.type === 'exit') {
      ended = true;
      const how = e.signal ? 'signal ' + e.signal : 'exit status ' + e.status;
      setStatus('ended', 'the shell ended (' + how + ') — reload the page for a new one');
    }
  }

  function onClose(ev) {
    ws = null;
    lastClose = { code: ev.code, reason: ev.reason };
    if (ended) return;
    if (FINAL[ev.code]) {
      setStatus('disconnected', FINAL[ev.code] + (ev.reason ? ': ' + ev.reason : ''));
      return;
    }
    const delay = Math.min(10000, 500 * 2 ** attempts);
    attempts++;
    const hint = session ? '' : ' (if this persists, open the page again with ?token=TOKEN)';
    // 4413: the program did not read the input, and the message that crossed the
    // agent's bound was dropped (web/terminal_input.go): say so, and keep saying it
    // once reconnected, so that the user knows to type it again.
    if (ev.code === 4413) dropped = (ev.reason || 'input dropped: the program in the terminal did not read it') + ' — type it again once it reads';
    const why = dropped ? dropped + '; ' : '';
    setStatus('disconnected', why + 'disconnected — reconnecting in ' + Math.ceil(delay / 1000) + ' s' + hint);
    retryTimer = setTimeout(connect, delay);
  }

  function connect() {
    clearTimeout(retryTimer);
    const u = new URL('terminal', location.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = '';
    u.searchParams.set('cols', term.cols);
    u.searchParams.set('rows', term.rows);
    if (session) {
      u.searchParams.set('session', session);
      u.searchParams.set('offset', received);
      setStatus('reconnecting', 'reconnecting…');
    }
    ws = new WebSocket(u);
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (ev) => (typeof ev.data === 'string' ? onEvent(JSON.parse(ev.data)) : onOutput(ev.data));
    ws.onclose = onClose;
  }

  // A closed or reloaded page will not come back for its shell: say so, and the agent
  // hangs the shell up at once instead of keeping it for --web-reconnect.
  window.addEventListener('pagehide', () => {
    if (ws) ws.close(4000, 'page closed');
  });

  // Back online (a laptop that woke up): try at once rather than at the next retry.
  window.addEventListener('online', () => {
    if (!ws && !ended && retryTimer) connect();
  });

  connect();
})();
