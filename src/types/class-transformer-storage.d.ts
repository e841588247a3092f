// class-transformer ships the module at runtime but its declaration under another path; the
// metadata of `@Type` (needed to describe nested classes as JSON Schema) lives there.
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}
