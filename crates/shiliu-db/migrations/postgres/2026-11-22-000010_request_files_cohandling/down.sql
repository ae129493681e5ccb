DROP TABLE request_cohandlers;
DROP TABLE request_attachments;
