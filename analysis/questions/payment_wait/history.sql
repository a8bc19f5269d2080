-- Has open order X waited for its payment confirmation longer than T at moment t? The exported history as it stood
-- at t: the last UpsertWorkflowSearchAttributes up to t set OrderStatus 'awaiting_payment', and when.
WITH last AS (
    SELECT i.workflow_id, i.moment,
           arg_max(h.attributes->'searchAttributes'->'indexedFields'->'OrderStatus'->>'data', h.event_id) AS status,
           max(h.event_time) AS since
    FROM (SELECT * FROM observed_instants WHERE api = 'query') i
    JOIN history_events h
      ON h.workflow_id = i.workflow_id AND h.event_type = 'UpsertWorkflowSearchAttributes' AND h.event_time <= i.moment
    GROUP BY ALL
)
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id, moment,
       date_diff('millisecond', since, moment) > $longer_than_ms AS longer
FROM last WHERE status = 'awaiting_payment';
