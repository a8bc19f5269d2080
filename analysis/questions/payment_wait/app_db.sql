-- Has open order X waited for its payment confirmation longer than T at moment t? The orders service's last status
-- change by t is 'awaiting_payment', made when.
WITH last AS (
    SELECT i.workflow_id, i.moment, arg_max(c.status, c.changed_at) AS status, max(c.changed_at) AS since
    FROM (SELECT * FROM observed_instants WHERE api = 'query') i
    JOIN app_order_status_changes c
      ON c.order_id = CASE WHEN i.workflow_id LIKE 'order-%' THEN substr(i.workflow_id, 7) ELSE i.workflow_id END AND c.changed_at <= i.moment
    GROUP BY ALL
)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, moment,
       date_diff('millisecond', since, moment) > $longer_than_ms AS longer
FROM last WHERE status = 'awaiting_payment';
