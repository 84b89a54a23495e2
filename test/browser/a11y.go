package browser

// accessibilityJS lists the page's basic accessibility problems: form
// controls without a label, images without alt text, buttons and links
// without a name, labels pointing at nothing, duplicate ids, and a missing
// language, title or h1. It is a floor, not an audit.
const accessibilityJS = `(() => {
	const problems = [];
	const short = el => el.outerHTML.replace(/\s+/g, ' ').slice(0, 140);
	const named = el => (el.getAttribute('aria-label') || '').trim() !== '' ||
		(el.getAttribute('aria-labelledby') || '').split(/\s+/).some(id => id && document.getElementById(id));
	for (const el of document.querySelectorAll('input, select, textarea, progress, meter')) {
		if (el.type === 'hidden') continue;
		const byFor = el.id && [...document.querySelectorAll('label[for]')].some(l => l.htmlFor === el.id && l.textContent.trim() !== '');
		const wrapped = el.closest('label') && el.closest('label').textContent.trim() !== '';
		if (!byFor && !wrapped && !named(el)) problems.push('form control without a label: ' + short(el));
	}
	for (const l of document.querySelectorAll('label[for]')) {
		if (!document.getElementById(l.htmlFor)) problems.push('label for a missing id: ' + short(l));
	}
	for (const img of document.querySelectorAll('img, [role=img]')) {
		if (img.closest('[aria-hidden=true]')) continue;
		const alt = img.tagName === 'IMG' ? img.getAttribute('alt') : null;
		if (!(alt && alt.trim()) && !named(img) && img.getAttribute('role') !== 'presentation') problems.push('image without alt text: ' + short(img));
	}
	for (const b of document.querySelectorAll('button, a[href], input[type=submit], input[type=button]')) {
		const text = (b.innerText || b.value || '').trim();
		if (!text && !named(b) && !b.title) problems.push('control without a name: ' + short(b));
	}
	const ids = {};
	for (const el of document.querySelectorAll('[id]')) {
		if (ids[el.id]) problems.push('duplicate id ' + el.id);
		ids[el.id] = true;
	}
	if (!document.documentElement.lang) problems.push('<html> has no lang');
	if (!document.title.trim()) problems.push('the page has no title');
	if (document.querySelectorAll('h1').length !== 1) problems.push('want exactly one h1, have ' + document.querySelectorAll('h1').length);
	if (!document.querySelector('main')) problems.push('no <main> landmark');
	return problems;
})()`

// Accessibility returns the current page's basic accessibility problems
// (see accessibilityJS); none is an empty slice.
func (p *Page) Accessibility() ([]string, error) {
	return Eval[[]string](p, accessibilityJS)
}
