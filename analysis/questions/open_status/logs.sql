-- What was open order X's status at moment t? The last 'order status recorded' record written by t.
WITH recorded AS (
    SELECT workflow_id, time, attributes->>'status' AS status FROM logs WHERE event = 'order status recorded'
)
SELECT CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AS order_id, i.moment, arg_max(l.status, l.time) AS status
FROM (SELECT * FROM observed_instants WHERE api = 'query') i
JOIN recorded l ON l.workflow_id = i.workflow_id AND l.time <= i.moment
GROUP BY ALL;
