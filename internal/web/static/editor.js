// easel's editor, progressively enhanced. Without these scripts every tool
// is a plain form that posts and reloads the page; with them, the same forms
// go through /api/v1 (with the session's CSRF token) and the page updates in
// place: a crop box to drag (crop.js), live previews while a slider moves
// (live.js), keyboard shortcuts, a compare button and tool tabs (here). No
// framework, no build step: crop.js and live.js put their classes on
// window.easel, and the page loads them first (deferred scripts run in
// document order).
'use strict';

(() => {
	document.documentElement.classList.add('js');

	const NOTICE = 'easel-notice'; // a message that survives the reload after an expired session
	const MOVES = {'/image/undo': ['/workspace/undo', 'Undone.'], '/image/redo': ['/workspace/redo', 'Redone.'],
		'/image/reset': ['/workspace/reset', 'Reset to the original.']};
	const $ = id => document.getElementById(id);

	// showNotice puts a message where the server's flash messages go.
	function showNotice(text, kind) {
		const p = document.createElement('p');
		p.className = 'flash flash-' + kind;
		p.setAttribute('role', kind === 'error' ? 'alert' : 'status');
		p.textContent = text;
		const main = document.querySelector('main');
		if (main) main.prepend(p);
	}

	// BUSY_TRIES bounds the attempts of an action the server answers 503 or
	// 429 ("busy, retry"), each after its Retry-After.
	const BUSY_TRIES = 4;

	// retryAfter is the wait, in whole seconds, that an answer's Retry-After
	// asks for: 2 when it has none, at most 30.
	function retryAfter(res) {
		const v = res.headers.get('Retry-After');
		let s = v === null ? NaN : Number(v);
		if (Number.isNaN(s) && v) s = (Date.parse(v) - Date.now()) / 1000;
		if (Number.isNaN(s)) s = 2;
		return Math.min(30, Math.max(1, Math.ceil(s)));
	}

	// fetchRetrying is fetch that, when the server answers 503 or 429 ("busy,
	// retry": nothing was done, and it says when to come back), waits as its
	// Retry-After says and tries again, at most BUSY_TRIES times in all,
	// telling the user through say. It returns the last answer; a network
	// failure throws, as fetch does.
	async function fetchRetrying(url, init, say) {
		for (let attempt = 1; ; attempt++) {
			const res = await fetch(url, init);
			if ((res.status !== 503 && res.status !== 429) || attempt >= BUSY_TRIES) return res;
			const wait = retryAfter(res);
			say(`The server is busy, retrying in ${wait} s…`);
			await new Promise(resolve => setTimeout(resolve, wait * 1000));
		}
	}

	// opFromForm turns a tool form into the op's JSON exactly as the server
	// does for the no-JavaScript post (web.formOp): numbers where the value is
	// one, strings otherwise, empty fields left out.
	function opFromForm(form, submitter) {
		const m = {};
		for (const [k, v] of new FormData(form, submitter)) {
			if (k === 'csrf_token' || typeof v !== 'string' || v === '' || k in m) continue;
			const n = Number(v);
			m[k] = k !== 'op' && k !== 'aspect' && v.trim() !== '' && Number.isFinite(n) ? n : v;
		}
		if (m.aspect !== undefined) for (const k of ['x', 'y', 'width', 'height']) delete m[k];
		if (m.op === 'rotate' && Number.isInteger(m.angle) && m.angle % 90 === 0) delete m.fill;
		return m;
	}

	// hash is a short, stable name for a state, so that the preview URL of a
	// state the browser has seen before (after undo, say) is reused.
	function hash(s) {
		let h = 2166136261;
		for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
		return (h >>> 0).toString(36);
	}

	class Editor {
		constructor(root) {
			this.root = root;
			this.img = $('image');
			this.frame = $('frame');
			this.status = $('status');
			this.w = +root.dataset.width;
			this.h = +root.dataset.height;
			this.queue = Promise.resolve();
			this.live = new window.easel.Live(this);
			this.crop = new window.easel.Crop(this);
			this.tabs = new Tabs(this);
			this.bind();
		}

		csrf() {
			const m = document.querySelector('meta[name="csrf-token"]');
			return m ? m.content : '';
		}

		bind() {
			document.addEventListener('submit', e => {
				const form = e.target;
				const action = new URL(form.action, location.href).pathname;
				if ((action === '/image/edits' || MOVES[action]) && form.dataset.pending) {
					e.preventDefault(); // a double click or a repeated Enter applies once
					return;
				}
				if (action === '/image/edits') {
					e.preventDefault();
					if (form === this.crop.form && !this.crop.ready()) return;
					this.edit(opFromForm(form, e.submitter), form);
				} else if (MOVES[action]) {
					e.preventDefault();
					this.move(action, form);
				}
			});
			$('quick-undo').addEventListener('click', () => this.move('/image/undo', null));
			$('quick-redo').addEventListener('click', () => this.move('/image/redo', null));
			document.addEventListener('keydown', e => this.key(e));
			document.addEventListener('keyup', e => {
				if (e.key === 'o' || e.key === 'O') this.compare(false);
			});
			const cmp = $('compare');
			cmp.addEventListener('pointerdown', e => { e.preventDefault(); this.compare(true); });
			for (const t of ['pointerup', 'pointerleave', 'pointercancel', 'blur']) cmp.addEventListener(t, () => this.compare(false));
			cmp.addEventListener('keydown', e => { if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); this.compare(true); } });
			cmp.addEventListener('keyup', e => { if (e.key === ' ' || e.key === 'Enter') this.compare(false); });
			// A page restored from the back/forward cache may show an old state.
			window.addEventListener('pageshow', e => { if (e.persisted) location.reload(); });
		}

		// key handles the page-wide shortcuts.
		key(e) {
			const t = e.target;
			const typing = t.matches && t.matches('textarea, input[type=text], input[type=number], input:not([type])');
			const mod = e.ctrlKey || e.metaKey;
			if (mod && !e.altKey && (e.key === 'z' || e.key === 'Z') && !typing) {
				e.preventDefault();
				this.move(e.shiftKey ? '/image/redo' : '/image/undo', null);
			} else if (mod && !e.altKey && (e.key === 'y' || e.key === 'Y') && !typing) {
				e.preventDefault();
				this.move('/image/redo', null);
			} else if (e.key === 'Escape') {
				this.crop.cancel();
				this.live.clear();
			} else if ((e.key === 'o' || e.key === 'O') && !mod && !e.repeat && !typing && !(t.matches && t.matches('select'))) {
				this.compare(true);
			}
		}

		// compare shows the original instead of the preview while on is true.
		compare(on) {
			if (on === !!this.comparing) return;
			if (on) {
				this.comparing = this.img.src;
				this.img.src = this.root.dataset.original;
				this.frame.classList.add('comparing');
			} else {
				this.img.src = this.comparing;
				this.comparing = null;
				this.frame.classList.remove('comparing');
			}
		}

		// edit sends one op; form is where a refusal is shown.
		edit(op, form) {
			return this.send('/workspace/edits', op, form, st => 'Applied: ' + st.labels[st.cursor - 1] + '.');
		}

		move(action, form) {
			const [path, done] = MOVES[action];
			const cursor = +this.root.dataset.cursor, edits = +this.root.dataset.edits;
			const none = {'/image/undo': cursor === 0 && 'Nothing to undo.', '/image/redo': cursor >= edits && 'Nothing to redo.'}[action];
			if (none) { // a shortcut pressed once too often: say so rather than ask the server
				this.say(none);
				return this.queue;
			}
			return this.send(path, null, form || document.querySelector(`form[action="${action}"]`), () => done);
		}

		// send queues one API call, so that quick keystrokes apply in order.
		send(path, body, form, message) {
			if (form) form.dataset.pending = '1';
			this.queue = this.queue.then(() => this.call(path, body, form, message));
			return this.queue;
		}

		async call(path, body, form, message) {
			this.busy(true);
			this.problem(form, '');
			try {
				let res;
				try {
					res = await fetchRetrying('/api/v1' + path, {
						method: 'POST', credentials: 'same-origin',
						headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': this.csrf()},
						body: body === null ? '' : JSON.stringify(body),
					}, text => this.say(text));
				} catch (err) {
					this.problem(form, 'The server could not be reached; check the connection and try again.');
					return;
				}
				const session = res.headers.get('X-Session');
				if (res.status === 403 || session === 'miss' || session === 'new') {
					// The session expired, or the page's token is stale: the page
					// cannot go on in place. Reload it and say why.
					sessionStorage.setItem(NOTICE, 'Your session had expired or this page was out of date, so it was reloaded. Your last action was not applied; please repeat it.');
					location.reload();
					return;
				}
				const data = await res.json().catch(() => ({}));
				if (!res.ok) {
					this.problem(form, data.detail || `The server answered ${res.status}.`);
					return;
				}
				await this.update(data);
				this.say(message(data));
			} finally {
				if (form) delete form.dataset.pending;
				this.busy(false);
			}
		}

		busy(on) {
			if (on) this.root.dataset.busy = '1';
			else delete this.root.dataset.busy;
			this.root.setAttribute('aria-busy', on ? 'true' : 'false');
		}

		say(text) {
			for (const f of document.querySelectorAll('main > .flash')) f.remove(); // the page load's messages are history now
			this.status.classList.remove('status-error');
			this.status.textContent = text;
		}

		// problem shows the API's detail next to the control that failed (its
		// form), or in the status line.
		problem(form, text) {
			for (const p of document.querySelectorAll('.problem')) p.remove();
			if (!text) return;
			if (!form) {
				this.status.classList.add('status-error');
				this.status.textContent = text;
				return;
			}
			const p = document.createElement('p');
			p.className = 'problem';
			p.setAttribute('role', 'alert');
			p.textContent = text;
			form.append(p);
		}

		// update shows the workspace state the API returned.
		async update(st) {
			const tok = st.csrf_token;
			if (tok && tok !== this.csrf()) {
				document.querySelector('meta[name="csrf-token"]').content = tok;
				for (const i of document.querySelectorAll('input[name=csrf_token]')) i.value = tok;
			}
			this.w = st.current.width;
			this.h = st.current.height;
			Object.assign(this.root.dataset, {width: this.w, height: this.h, cursor: st.cursor, edits: st.edits.length});
			const v = hash(st.image.digest + JSON.stringify(st.edits.slice(0, st.cursor)));
			const url = `/api/v1/workspace/render?size=preview&format=jpeg&v=${v}`;
			// The render is fetched first, so that a busy server's 503 is
			// waited out and retried (an <img> cannot read Retry-After); the
			// image then loads it from the shared render cache (a 304 to the
			// browser's conditional request).
			const next = new Image();
			try {
				const res = await fetchRetrying(url, {credentials: 'same-origin'}, text => this.say(text));
				if (!res.ok) throw new Error(`render answered ${res.status}`);
				await res.arrayBuffer();
				next.src = url;
				await next.decode();
			} catch (err) {
				this.problem(null, 'The new preview could not be loaded; reload the page to see it.');
			}
			if (this.comparing) this.comparing = url;
			else this.img.src = url;
			this.img.width = next.naturalWidth || this.img.width;
			this.img.height = next.naturalHeight || this.img.height;
			this.img.alt = `Your image after ${st.cursor} edit(s), ${this.w} × ${this.h} pixels`;
			const cap = $('caption').firstChild;
			cap.textContent = cap.textContent.replace(/^\d+ × \d+ px now/, `${this.w} × ${this.h} px now`);
			this.live.clear();
			this.history(st);
			this.crop.reset();
		}

		history(st) {
			const ol = $('history');
			ol.replaceChildren(...st.labels.map((label, i) => {
				const li = document.createElement('li');
				li.textContent = label;
				if (i >= st.cursor) {
					li.className = 'undone';
					const s = document.createElement('span');
					s.className = 'hint';
					s.textContent = '(undone)';
					li.append(' ', s);
				}
				return li;
			}));
			$('history-empty').hidden = st.labels.length > 0;
			const canUndo = st.cursor > 0, canRedo = st.cursor < st.labels.length;
			$('undo').disabled = $('quick-undo').disabled = !canUndo;
			$('redo').disabled = $('quick-redo').disabled = !canRedo;
			$('reset').disabled = st.labels.length === 0;
			for (const [id, v] of [['resize-w', this.w], ['resize-h', this.h]]) $(id).placeholder = v;
		}
	}

	// Tabs shows one group of tools at a time, so that on a phone the image
	// and the open tool fit on one screen.
	class Tabs {
		constructor(ed) {
			this.ed = ed;
			const tools = document.querySelector('.tools');
			this.groups = [...tools.querySelectorAll('.group[data-tab]')];
			const list = document.createElement('div');
			list.className = 'tablist';
			list.setAttribute('role', 'tablist');
			list.setAttribute('aria-label', 'Tools');
			this.tabs = this.groups.map(g => {
				const b = document.createElement('button');
				b.type = 'button';
				b.id = 'tab-' + g.id;
				b.textContent = g.dataset.tab;
				b.setAttribute('role', 'tab');
				b.setAttribute('aria-controls', g.id);
				g.setAttribute('role', 'tabpanel');
				g.setAttribute('aria-labelledby', b.id);
				b.addEventListener('click', () => this.select(g.id));
				list.append(b);
				return b;
			});
			list.addEventListener('keydown', e => {
				const i = this.tabs.indexOf(document.activeElement);
				const d = {ArrowRight: 1, ArrowLeft: -1}[e.key];
				if (i < 0 || !d) return;
				e.preventDefault();
				const next = this.tabs[(i + d + this.tabs.length) % this.tabs.length];
				next.focus();
				this.select(next.getAttribute('aria-controls'));
			});
			tools.prepend(list);
			this.select(this.groups[0].id);
		}

		select(id) {
			this.groups.forEach((g, i) => {
				const on = g.id === id;
				g.hidden = !on;
				this.tabs[i].setAttribute('aria-selected', on ? 'true' : 'false');
				this.tabs[i].tabIndex = on ? 0 : -1;
			});
			this.ed.live.clear();
			this.ed.crop.show(id === 'group-crop');
		}
	}

	function start() {
		const notice = sessionStorage.getItem(NOTICE);
		if (notice) {
			sessionStorage.removeItem(NOTICE);
			showNotice(notice, 'error');
		}
		const root = $('editor');
		if (root) new Editor(root);
	}

	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
	else start();
})();
