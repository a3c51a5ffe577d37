// Primary doctor: the inbox of summaries about own patients, read and acknowledge.
import { inboxPanel } from './inbox.js';

export function primaryView({ api, root }) {
  let inbox = null;
  return {
    render() {
      inbox = inboxPanel(api);
      root.replaceChildren(inbox.el);
      inbox.refresh();
    },
    refresh() { if (inbox) inbox.refresh(); },
    onEvent(ev) { if (ev.type === 'visitSummary' && inbox) inbox.refresh(); },
  };
}
