-- What was open order X's status at moment t? The exported history as it stood at t (events with event_time <= t):
-- the OrderStatus of the last UpsertWorkflowSearchAttributes.
SELECT regexp_replace(i.workflow_id, '^order-', '') AS order_id, i.moment,
       arg_max(h.attributes->'searchAttributes'->'indexedFields'->'OrderStatus'->>'data', h.event_id) AS status
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN history_events h
  ON h.workflow_id = i.workflow_id AND h.event_type = 'UpsertWorkflowSearchAttributes' AND h.event_time <= i.moment
GROUP BY ALL;
