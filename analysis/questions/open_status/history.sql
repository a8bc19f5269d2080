-- What was open order X's status at moment t? The exported history as it stood at t (events with event_time <= t):
-- the OrderStatus of the last UpsertWorkflowSearchAttributes.
WITH upserts AS (
    SELECT workflow_id, event_id, event_time,
           attributes->>'$.searchAttributes.indexedFields.OrderStatus.data' AS status
    FROM history_events WHERE event_type = 'UpsertWorkflowSearchAttributes'
)
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, arg_max(h.status, h.event_id) AS status
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN upserts h ON h.workflow_id = i.workflow_id AND h.event_time <= i.moment
GROUP BY ALL;
