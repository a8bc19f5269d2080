-- Has open order X waited for its payment confirmation longer than T at moment t? The exported history as it stood
-- at t: the last UpsertWorkflowSearchAttributes up to t set OrderStatus 'awaiting_payment', and when.
WITH upserts AS (
    SELECT workflow_id, event_id, event_time,
           attributes->>'$.searchAttributes.indexedFields.OrderStatus.data' AS status
    FROM history_events WHERE event_type = 'UpsertWorkflowSearchAttributes'
), last AS (
    SELECT i.workflow_id, i.moment, arg_max(h.status, h.event_id) AS status, max(h.event_time) AS since
    FROM (SELECT * FROM observed_instants WHERE api = 'query') i
    JOIN upserts h ON h.workflow_id = i.workflow_id AND h.event_time <= i.moment
    GROUP BY ALL
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, moment,
       date_diff('millisecond', since, moment) > $longer_than_ms AS longer
FROM last WHERE status = 'awaiting_payment';
