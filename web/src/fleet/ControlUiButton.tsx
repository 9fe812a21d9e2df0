import { useState } from 'react';
import { ApiProblem, callApi } from '../api.ts';
import { useSession } from '../session/session.ts';

/**
 * Opens the gateway's Control UI already signed in. The token comes from POST
 * /api/fleet/control-ui-token at the click, only into the URL fragment (never sent to a server,
 * never stored here). The tab is opened first, inside the click, so no popup blocker stops it.
 */
export function ControlUiButton() {
  const session = useSession();
  const [problem, setProblem] = useState<string | null>(null);
  const open = async () => {
    setProblem(null);
    const tab = window.open('about:blank', '_blank');
    try {
      const { openUrl } = await callApi<{ openUrl: string }>(session, '/api/fleet/control-ui-token', { method: 'POST' });
      if (tab) {
        tab.opener = null;
        tab.location.href = openUrl;
      } else {
        window.location.assign(openUrl);
      }
    } catch (err) {
      tab?.close();
      setProblem(err instanceof ApiProblem ? err.message : String(err));
    }
  };
  return (
    <>
      <button type="button" onClick={open}>
        Open the Control UI
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </>
  );
}
