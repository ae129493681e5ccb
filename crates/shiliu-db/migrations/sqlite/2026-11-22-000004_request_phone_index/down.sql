DROP INDEX requests_phone;
