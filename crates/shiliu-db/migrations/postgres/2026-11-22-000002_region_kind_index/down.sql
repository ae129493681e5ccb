DROP INDEX regions_path_kind;
