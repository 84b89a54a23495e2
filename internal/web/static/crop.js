// easel's editor: the crop box. Loaded before editor.js, which uses it
// (see the comment there); it only defines the class.
'use strict';

(() => {
	const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
	const $ = id => document.getElementById(id);

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

	window.easel = Object.assign(window.easel || {}, {Crop});
})();
