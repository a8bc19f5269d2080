-- What is order X's shipping address? The workflow input's address, or the argument of the last accepted
-- change_address update: payloads history keeps in the clear unless a codec encrypts them.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
WITH addresses AS (
    SELECT workflow_id, event_id, attributes->>'$.input.payloads[0].data.shipping_address' AS address
    FROM history_events WHERE event_type = 'WorkflowExecutionStarted' AND workflow_id LIKE 'order-%'
    UNION ALL
    SELECT workflow_id, event_id, attributes->>'$.acceptedRequest.input.args.payloads[0].data'
    FROM history_events WHERE event_type = 'WorkflowExecutionUpdateAccepted' AND workflow_id LIKE 'order-%'
      AND attributes->>'$.acceptedRequest.input.name' = 'change_address'
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, address
FROM addresses
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_id DESC) = 1;
