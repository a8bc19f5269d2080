-- What revenue did completed orders bring per day and customer? The amount and customer exist only inside each
-- workflow's input payload (JSON, and only without an encrypting codec); the business status only inside its
-- result: a scan of every retained history, which a deleted (expired) order has left.
WITH started AS (
    SELECT workflow_id, event_time, f[1] AS customer, CAST(f[2] AS BIGINT) AS amount_cents
    FROM (SELECT workflow_id, event_time,
                 -- the input payload parsed once for both fields (->> would parse it per field)
                 json_extract_string(attributes, ['$.input.payloads[0].data.customer',
                                                  '$.input.payloads[0].data.amount_cents']) AS f
          FROM history_events
          WHERE workflow_id LIKE 'order-%' AND event_type = 'WorkflowExecutionStarted'
          QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY event_time) = 1)
), completed AS (
    SELECT workflow_id FROM history_events
    WHERE workflow_id LIKE 'order-%' AND event_type = 'WorkflowExecutionCompleted'
      AND attributes->>'$.result.payloads[0].data.status' = 'completed'
)
SELECT CAST(event_time AT TIME ZONE 'UTC' AS DATE) AS day, customer, sum(amount_cents) AS revenue_cents
FROM started JOIN completed USING (workflow_id)
GROUP BY ALL;
