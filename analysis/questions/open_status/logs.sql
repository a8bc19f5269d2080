-- What was open order X's status at moment t? The last 'order status recorded' record written by t.
SELECT regexp_replace(i.workflow_id, '^order-', '') AS order_id, i.moment, arg_max(l.attributes->>'status', l.time) AS status
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN logs l ON l.workflow_id = i.workflow_id AND l.event = 'order status recorded' AND l.time <= i.moment
GROUP BY ALL;
