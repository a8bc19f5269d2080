-- Which card number did order X's customer pay with? The workflow input payload holds it (in the clear, unless a
-- codec encrypts payloads) for as long as the history is retained.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       attributes->>'$.input.payloads[0].data.card_number' AS card_number
FROM history_events
WHERE event_type = 'WorkflowExecutionStarted' AND workflow_id LIKE 'order-%'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_time) = 1;
