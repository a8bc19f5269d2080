-- Which durable timers did order X start, and did each fire or get canceled? The interceptor's Timer spans.
SELECT regexp_replace(workflow_id, '^order-', '') AS order_id, outcome AS outcome
FROM spans
WHERE name = 'Timer' AND source <> 'history' AND workflow_id LIKE 'order-%';
