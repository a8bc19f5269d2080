-- Has open order X waited for its payment confirmation longer than T at moment t? The last 'order status recorded'
-- record by t says 'awaiting_payment', written when.
WITH recorded AS (
    SELECT workflow_id, time, attributes->>'status' AS status FROM logs WHERE event = 'order status recorded'
), last AS (
    SELECT i.workflow_id, i.moment, arg_max(l.status, l.time) AS status, max(l.time) AS since
    FROM (SELECT * FROM observed_instants WHERE api = 'query') i
    JOIN recorded l ON l.workflow_id = i.workflow_id AND l.time <= i.moment
    GROUP BY ALL
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, moment,
       date_diff('millisecond', since, moment) > $longer_than_ms AS longer
FROM last WHERE status = 'awaiting_payment';
