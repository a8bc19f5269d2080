-- How long did each completed step of order X take (its successful attempt)? The work the driver made it do.
SELECT order_id, step, work_ms FROM ground_truth_attempts WHERE outcome = 'completed';
