import { render } from 'preact';
import { App } from './app';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('the page has no #app element');
// index.html paints a loading line with the stylesheet, before this script has arrived; the
// console replaces it.
root.replaceChildren();
render(<App />, root);
