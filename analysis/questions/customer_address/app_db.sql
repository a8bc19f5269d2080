-- What is order X's shipping address? The orders table's column.
SELECT order_id, shipping_address AS address FROM app_orders;
