DROP TABLE activity_targets;
DROP TABLE activity_photos;
DROP TABLE activity_materials;
DROP TABLE activities;
DROP TABLE activity_terms;
