-- How many bytes does the orders table keep for order X? Every column's value of its row as text.
SELECT order_id, sum(strlen(concat(*COLUMNS(*)))) AS bytes FROM app_orders GROUP BY 1;
