DROP TABLE resident_codes;
DROP TABLE request_sms_consents;
DROP TABLE sms_log;
DROP TABLE message_attempts;
DROP TABLE messages;
