// easel's editor: live previews. Loaded before editor.js, which uses it
// (see the comment there); it only defines the class.
'use strict';

(() => {
	const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
	const $ = id => document.getElementById(id);

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

	window.easel = Object.assign(window.easel || {}, {Live});
})();
