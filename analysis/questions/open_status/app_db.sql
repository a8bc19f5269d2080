-- What was open order X's status at moment t? The orders service's own status changes, the last one made by t.
SELECT i.order_id, i.moment, arg_max(c.status, c.changed_at) AS status
FROM (SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id, moment FROM observed_instants
      WHERE api = 'query') i
JOIN app_order_status_changes c ON c.order_id = i.order_id AND c.changed_at <= i.moment
GROUP BY ALL;
