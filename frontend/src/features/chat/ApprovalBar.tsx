import { useState } from "react";
import type { ProjectInitStatusEvent } from "../../protocol";

/** A phase waits for the person: approve it, or send it back with feedback. */
export function ApprovalBar({ phase, onAnswer }: {
  phase: ProjectInitStatusEvent;
  onAnswer: (approve: boolean, feedback: string) => Promise<void>;
}) {
  const [rejecting, setRejecting] = useState(false);
  const [feedback, setFeedback] = useState("");
  const [busy, setBusy] = useState(false);
  const answer = async (approve: boolean) => {
    setBusy(true);
    try {
      await onAnswer(approve, approve ? "" : feedback);
      setRejecting(false);
      setFeedback("");
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="approval-bar" aria-label="Phase approval">
      <div className="approval-text">
        <strong>{phase.phaseTitle}</strong> is ready for your review.
      </div>
      {rejecting ? (
        <form
          className="approval-feedback"
          onSubmit={(event) => {
            event.preventDefault();
            if (feedback.trim() !== "") void answer(false);
          }}
        >
          <label htmlFor="phase-feedback">What should change?</label>
          <textarea id="phase-feedback" rows={3} value={feedback} autoFocus onChange={(event) => setFeedback(event.target.value)} />
          <div className="button-row">
            <button type="submit" className="button button-primary" disabled={busy || feedback.trim() === ""}>
              Send back
            </button>
            <button type="button" className="button" onClick={() => setRejecting(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="button-row">
          <button type="button" className="button button-primary" disabled={busy} onClick={() => void answer(true)}>
            Approve
          </button>
          <button type="button" className="button" disabled={busy} onClick={() => setRejecting(true)}>
            Request changes
          </button>
        </div>
      )}
    </section>
  );
}
