DROP INDEX requests_status;
DROP INDEX requests_category;
DROP INDEX requests_deadline;
DROP INDEX requests_received;
