// easel's editor, progressively enhanced. Without this script every tool is
// a plain form that posts and reloads the page; with it, the same forms go
// through /api/v1 (with the session's CSRF token) and the page updates in
// place: a crop box to drag, live previews while a slider moves, keyboard
// shortcuts, a compare button and tool tabs. No framework, no build step.
'use strict';

(() => {
	document.documentElement.classList.add('js');

	const NOTICE = 'easel-notice'; // a message that survives the reload after an expired session
	const MOVES = {'/image/undo': ['/workspace/undo', 'Undone.'], '/image/redo': ['/workspace/redo', 'Redone.'],
		'/image/reset': ['/workspace/reset', 'Reset to the original.']};
	const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
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
			this.live = new Live(this);
			this.crop = new Crop(this);
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
					res = await fetch('/api/v1' + path, {
						method: 'POST', credentials: 'same-origin',
						headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': this.csrf()},
						body: body === null ? '' : JSON.stringify(body),
					});
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
			const next = new Image();
			next.src = url;
			try {
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

	// Live previews an adjustment, a filter or a rotation in the browser
	// while its control moves; the server's render replaces it when the edit
	// lands. The colour curves match easel's own (imaging/adjust.go): CSS's
	// contrast, saturate, hue-rotate, grayscale, sepia and invert use the
	// same formulas and matrices; brightness (a shift, not a scale) and gamma
	// go through an SVG component transfer.
	class Live {
		constructor(ed) {
			this.ed = ed;
			this.funcs = this.svgFilter();
			for (const form of document.querySelectorAll('.tools form')) {
				const op = form.querySelector('input[name=op]');
				const range = form.querySelector('input[type=range][name]');
				if (!op || !range) continue;
				const out = form.querySelector('output');
				const show = () => {
					if (out) out.textContent = `${range.value} (${range.min} to ${range.max})`;
					this.adjust(op.value, +range.value);
				};
				range.addEventListener('input', show);
			}
			for (const b of document.querySelectorAll('.tools button[name=op]')) {
				const on = () => this.set(`${b.value}(1)`);
				b.addEventListener('pointerenter', on);
				b.addEventListener('focus', on);
				b.addEventListener('pointerleave', () => this.clear());
				b.addEventListener('blur', () => this.clear());
			}
			const angle = $('rotate-angle'), straighten = $('straighten'), fill = $('rotate-fill');
			straighten.addEventListener('input', () => {
				angle.value = straighten.value;
				this.rotate(+straighten.value, fill.value);
			});
			angle.addEventListener('input', () => {
				if (Number.isFinite(+angle.value) && angle.value !== '') {
					straighten.value = clamp(+angle.value, -45, 45);
					this.rotate(+angle.value, fill.value);
				}
			});
		}

		svgFilter() {
			const NS = 'http://www.w3.org/2000/svg';
			const svg = document.createElementNS(NS, 'svg');
			svg.setAttribute('aria-hidden', 'true');
			svg.setAttribute('class', 'fx');
			const filter = (id, ...children) => {
				const f = document.createElementNS(NS, 'filter');
				f.id = id;
				f.setAttribute('color-interpolation-filters', 'sRGB');
				// The filter's region is the image itself, nothing around it.
				for (const [k, v] of [['x', 0], ['y', 0], ['width', 1], ['height', 1]]) f.setAttribute(k, v);
				f.append(...children);
				svg.append(f);
			};
			const ct = document.createElementNS(NS, 'feComponentTransfer');
			const funcs = ['feFuncR', 'feFuncG', 'feFuncB'].map(n => ct.appendChild(document.createElementNS(NS, n)));
			filter('easel-live', ct);
			// CSS blur() fades the image's edges into what is behind it; easel
			// extends the edge pixels instead. Blurring, then making every pixel
			// opaque again, weighs only the image's own pixels near an edge,
			// which is what the server's render looks like.
			this.gauss = document.createElementNS(NS, 'feGaussianBlur');
			const opaque = document.createElementNS(NS, 'feComponentTransfer');
			const a = opaque.appendChild(document.createElementNS(NS, 'feFuncA'));
			a.setAttribute('type', 'discrete');
			a.setAttribute('tableValues', '1');
			filter('easel-blur', this.gauss, opaque);
			document.body.append(svg);
			return funcs;
		}

		transfer(attrs) {
			for (const fn of this.funcs) {
				for (const a of ['type', 'slope', 'intercept', 'amplitude', 'exponent', 'offset']) fn.removeAttribute(a);
				for (const [k, v] of Object.entries(attrs)) fn.setAttribute(k, v);
			}
			return 'url(#easel-live)';
		}

		adjust(op, v) {
			const scale = this.ed.img.getBoundingClientRect().width / this.ed.w;
			const f = {
				brightness: () => this.transfer({type: 'linear', slope: 1, intercept: v}),
				contrast: () => `contrast(${Math.min(Math.tan((v + 1) * Math.PI / 4), 1e6)})`,
				saturation: () => `saturate(${1 + v})`,
				hue: () => `hue-rotate(${v}deg)`,
				gamma: () => this.transfer({type: 'gamma', amplitude: 1, exponent: 1 / v, offset: 0}),
				blur: () => {
					// The preview is shown at scale; sigma is in the image's pixels.
					this.gauss.setAttribute('stdDeviation', (v * scale).toFixed(2));
					return 'url(#easel-blur)';
				},
			}[op];
			this.set(f ? f() : '');
		}

		set(filter) {
			this.ed.img.style.filter = filter;
			this.ed.frame.classList.toggle('previewing', filter !== '');
		}

		// rotate shows the image turned by deg, scaled to fit as the server's
		// render will be (the canvas grows, the corners take the fill colour).
		rotate(deg, fill) {
			const r = deg * Math.PI / 180, w = this.ed.w, h = this.ed.h;
			const c = Math.abs(Math.cos(r)), s = Math.abs(Math.sin(r));
			const k = Math.min(w / (w * c + h * s), h / (w * s + h * c));
			this.ed.img.style.transform = deg ? `rotate(${deg}deg) scale(${k})` : '';
			this.ed.frame.style.backgroundColor = deg % 90 ? fill : '';
		}

		clear() {
			this.set('');
			this.ed.img.style.transform = '';
			this.ed.frame.style.backgroundColor = '';
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

	// Crop is the crop box over the preview. Its rectangle is kept in the
	// current image's pixels (the space the crop op uses), never in screen
	// pixels: a pointer position maps to round(offset × image width / shown
	// width), so the numbers in the X/Y/W/H fields are exactly what lands.
	class Crop {
		constructor(ed) {
			this.ed = ed;
			this.form = $('crop-form');
			this.fields = {x: $('crop-x'), y: $('crop-y'), w: $('crop-w'), h: $('crop-h')};
			this.apply = this.form.querySelector('button[type=submit]');
			this.aspect = 0; // width/height, or 0 for free
			this.build();
			this.reset();
			for (const f of Object.values(this.fields)) f.addEventListener('input', () => this.fromFields());
			$('crop-cancel').addEventListener('click', () => this.cancel());
			for (const b of this.form.querySelectorAll('.presets button')) {
				b.addEventListener('click', () => this.preset(b));
			}
		}

		build() {
			const area = document.createElement('div');
			area.className = 'crop-area';
			const box = document.createElement('div');
			box.className = 'crop-box';
			const move = document.createElement('button');
			move.type = 'button';
			move.className = 'crop-move';
			move.dataset.handle = 'move';
			box.append(move);
			const names = {nw: 'top-left corner', n: 'top edge', ne: 'top-right corner', e: 'right edge',
				se: 'bottom-right corner', s: 'bottom edge', sw: 'bottom-left corner', w: 'left edge'};
			for (const [h, name] of Object.entries(names)) {
				const b = document.createElement('button');
				b.type = 'button';
				b.className = 'crop-handle crop-' + h;
				b.dataset.handle = h;
				b.setAttribute('aria-label', `Crop box ${name}: arrow keys move it`);
				box.append(b);
			}
			// The shade darkens what the crop drops; it sits in its own clipped
			// layer, so that the handles may reach past the image's edge.
			const shade = document.createElement('div');
			shade.className = 'crop-shade';
			const hole = document.createElement('div');
			hole.className = 'crop-hole';
			shade.append(hole);
			area.append(shade, box);
			this.ed.frame.append(area);
			Object.assign(this, {area, box, hole, move});
			area.addEventListener('pointerdown', e => this.down(e));
			area.addEventListener('pointermove', e => this.drag(e));
			area.addEventListener('pointerup', e => this.up(e));
			area.addEventListener('pointercancel', e => this.up(e));
			box.addEventListener('keydown', e => this.key(e));
		}

		show(on) {
			this.area.hidden = !on;
		}

		// point maps a pointer event to the current image's pixels, clamped to
		// the image: a drag that leaves the image stops at its edge.
		point(e) {
			const r = this.ed.img.getBoundingClientRect();
			return {
				x: clamp(Math.round((e.clientX - r.left) * this.ed.w / r.width), 0, this.ed.w),
				y: clamp(Math.round((e.clientY - r.top) * this.ed.h / r.height), 0, this.ed.h),
			};
		}

		full() {
			const r = this.rect;
			return r.x === 0 && r.y === 0 && r.w === this.ed.w && r.h === this.ed.h;
		}

		down(e) {
			if (e.button !== 0 || this.ed.comparing) return;
			e.preventDefault();
			let handle = e.target.dataset.handle || 'new';
			if (handle === 'move' && this.full()) handle = 'new'; // nothing to move: draw a box instead
			this.drag0 = {handle, p: this.point(e), r: {...this.rect}, id: e.pointerId};
			if (handle === 'new') this.set({...this.drag0.p, w: 0, h: 0}); // a press outside the box starts a new one
			this.area.setPointerCapture(e.pointerId);
			(handle === 'new' ? this.move : e.target).focus({preventScroll: true});
			this.area.classList.add('dragging');
		}

		drag(e) {
			const d = this.drag0;
			if (!d || e.pointerId !== d.id) return;
			const p = this.point(e);
			if (d.handle === 'new') {
				this.stretch(d.p, p.x - d.p.x, p.y - d.p.y);
			} else if (d.handle === 'move') {
				this.set({...d.r, x: clamp(d.r.x + p.x - d.p.x, 0, this.ed.w - d.r.w), y: clamp(d.r.y + p.y - d.p.y, 0, this.ed.h - d.r.h)});
			} else {
				this.resize(d.r, d.handle, p.x - d.p.x, p.y - d.p.y);
			}
		}

		up(e) {
			if (!this.drag0 || e.pointerId !== this.drag0.id) return;
			this.drag0 = null;
			this.area.classList.remove('dragging');
		}

		// stretch sets the box from the anchor a to a + (dx, dy), in either
		// direction, keeping the aspect when one is chosen.
		stretch(a, dx, dy) {
			const sx = dx < 0 ? -1 : 1, sy = dy < 0 ? -1 : 1;
			let w = Math.abs(dx), h = Math.abs(dy);
			if (this.aspect) [w, h] = this.fit(w, h, sx > 0 ? this.ed.w - a.x : a.x, sy > 0 ? this.ed.h - a.y : a.y);
			this.set({x: sx > 0 ? a.x : a.x - w, y: sy > 0 ? a.y : a.y - h, w, h});
		}

		// resize moves the edges that handle h controls by (dx, dy) from the
		// box r; the opposite edges stay.
		resize(r, h, dx, dy) {
			let x0 = r.x, y0 = r.y, x1 = r.x + r.w, y1 = r.y + r.h;
			if (h.includes('w')) x0 = clamp(x0 + dx, 0, x1);
			if (h.includes('e')) x1 = clamp(x1 + dx, x0, this.ed.w);
			if (h.includes('n')) y0 = clamp(y0 + dy, 0, y1);
			if (h.includes('s')) y1 = clamp(y1 + dy, y0, this.ed.h);
			if (!this.aspect) {
				this.set({x: x0, y: y0, w: x1 - x0, h: y1 - y0});
				return;
			}
			// With an aspect, the corner opposite the handle (for an edge, the
			// edge's start) is the anchor and the box keeps its shape.
			const ax = h.includes('w') ? x1 : x0, ay = h.includes('n') ? y1 : y0;
			const sx = h.includes('w') ? -1 : 1, sy = h.includes('n') ? -1 : 1;
			let w = x1 - x0, ht = y1 - y0;
			if (h === 'n' || h === 's') w = Infinity;
			if (h === 'e' || h === 'w') ht = Infinity;
			this.stretch({x: ax, y: ay}, sx * (w === Infinity ? ht * this.aspect : w), sy * (ht === Infinity ? w / this.aspect : ht));
		}

		// fit shrinks w×h to the chosen aspect, within maxW×maxH.
		fit(w, h, maxW, maxH) {
			const a = this.aspect;
			if (w / a > h) w = h * a; else h = w / a;
			if (w > maxW) { w = maxW; h = w / a; }
			if (h > maxH) { h = maxH; w = h * a; }
			return [Math.round(w), Math.round(h)];
		}

		key(e) {
			const d = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]}[e.key];
			if (e.key === 'Enter') {
				e.preventDefault();
				this.form.requestSubmit();
				return;
			}
			if (!d) return;
			e.preventDefault();
			const step = e.altKey ? 10 : 1;
			const [dx, dy] = [d[0] * step, d[1] * step];
			const r = {...this.rect};
			const h = e.target.dataset.handle;
			if (h === 'move' && e.shiftKey) this.resize(r, 'se', dx, dy);
			else if (h === 'move') this.set({...r, x: clamp(r.x + dx, 0, this.ed.w - r.w), y: clamp(r.y + dy, 0, this.ed.h - r.h)});
			else this.resize(r, h, dx, dy);
		}

		preset(b) {
			for (const o of this.form.querySelectorAll('.presets button')) o.setAttribute('aria-pressed', o === b ? 'true' : 'false');
			const a = b.dataset.aspect;
			if (!a) { this.aspect = 0; return; }
			const [p, q] = a === 'original' ? [this.ed.w, this.ed.h] : a.split(':').map(Number);
			this.aspect = p / q;
			// The largest box of that shape, centred on the current one.
			const r = this.rect;
			const [w, h] = this.fit(r.w || this.ed.w, r.h || this.ed.h, this.ed.w, this.ed.h);
			const cx = r.x + r.w / 2, cy = r.y + r.h / 2;
			this.set({x: clamp(Math.round(cx - w / 2), 0, this.ed.w - w), y: clamp(Math.round(cy - h / 2), 0, this.ed.h - h), w, h});
		}

		fromFields() {
			const v = k => Math.round(+this.fields[k].value) || 0;
			const x = clamp(v('x'), 0, this.ed.w), y = clamp(v('y'), 0, this.ed.h);
			this.set({x, y, w: clamp(v('w'), 0, this.ed.w - x), h: clamp(v('h'), 0, this.ed.h - y)}, false);
		}

		// set draws the box r and, unless told not to, writes it to the fields.
		set(r, toFields = true) {
			this.rect = r;
			const W = this.ed.w, H = this.ed.h;
			const pos = {left: `${100 * r.x / W}%`, top: `${100 * r.y / H}%`, width: `${100 * r.w / W}%`, height: `${100 * r.h / H}%`};
			Object.assign(this.box.style, pos);
			Object.assign(this.hole.style, pos);
			if (toFields) {
				this.fields.x.value = r.x;
				this.fields.y.value = r.y;
				this.fields.w.value = r.w;
				this.fields.h.value = r.h;
			}
			const empty = r.w < 1 || r.h < 1;
			this.apply.disabled = empty;
			this.apply.title = empty ? 'The box is empty: drag on the image to draw one.' : '';
			this.move.setAttribute('aria-label', `Crop box, ${r.w} × ${r.h} at ${r.x}, ${r.y}: arrow keys move it, Shift+arrows resize it, Enter crops, Escape cancels`);
		}

		// ready reports whether the box can be applied.
		ready() {
			if (this.rect.w >= 1 && this.rect.h >= 1) return true;
			this.ed.problem(this.form, 'The crop box is empty: drag on the image to draw one.');
			return false;
		}

		reset() {
			for (const [k, max] of [['x', this.ed.w], ['y', this.ed.h], ['w', this.ed.w], ['h', this.ed.h]]) this.fields[k].max = max;
			this.set({x: 0, y: 0, w: this.ed.w, h: this.ed.h});
		}

		cancel() {
			this.drag0 = null;
			this.reset();
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
