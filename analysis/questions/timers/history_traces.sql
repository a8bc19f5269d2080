-- Which durable timers did order X start, and did each fire or get canceled? Timer spans synthesized from history.
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, lower(outcome) AS outcome
FROM spans
WHERE name LIKE 'Timer:%' AND source = 'history' AND workflow_id LIKE 'order-%';
