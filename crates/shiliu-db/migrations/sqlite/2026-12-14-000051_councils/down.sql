DROP TABLE council_items;
DROP TABLE council_attendance;
DROP TABLE council_meetings;
DROP TABLE council_members;
DROP TABLE councils;
