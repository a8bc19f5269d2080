-- For a failed order X: which step failed for good, and with what error? ActivityTaskFailed is written only when an
-- activity fails for good (retries leave no event of their own).
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, activity_type AS step, failure_message AS error
FROM history_events
WHERE event_type = 'ActivityTaskFailed' AND workflow_id LIKE 'order-%';
