DROP TABLE request_media;
