import { BuilderError } from '../builder-error.js';
import { parseOutputSpec } from './output-spec.js';

describe('parseOutputSpec', () => {
  it.each([
    ['type=oci,dest=out.tar', { type: 'oci', dest: 'out.tar', tar: true }],
    ['type=oci,dest=dir,tar=false,name=v1', { type: 'oci', dest: 'dir', tar: false, name: 'v1' }],
    ['type=docker,dest=d.tar', { type: 'docker', dest: 'd.tar' }],
    ['type=docker,dest=d.tar,name=a:1,b:2', { type: 'docker', dest: 'd.tar', names: ['a:1', 'b:2'] }],
    ['type=local,dest=rootfs', { type: 'local', dest: 'rootfs' }],
    ['type=tar,dest=-', { type: 'tar', dest: '-' }],
    ['rootfs', { type: 'local', dest: 'rootfs' }],
    ['-', { type: 'tar', dest: '-' }],
    ['type=registry', { type: 'registry' }],
    ['type=registry,name=r:5000/a:1,r:5000/a:2', { type: 'registry', names: ['r:5000/a:1', 'r:5000/a:2'] }],
    ['type=image,name=r/a,push=true', { type: 'registry', names: ['r/a'] }],
    ['type=oci,dest=x,compression=zstd', { type: 'oci', dest: 'x', tar: true, compression: 'zstd' }],
    ['type=docker,dest=x,compression=gzip', { type: 'docker', dest: 'x' }],
  ])('%s', (text, spec) => {
    expect(parseOutputSpec(text)).toEqual(spec);
  });

  it.each([
    ['type=registry,dest=x', /type=registry has no field "dest"/],
    ['type=image,push=false', /unsupported output type "image"/],
    ['type=image,push=1', /push=1: expected true or false/],
    ['type=tar', /needs dest=PATH/],
    ['type=local,dest=-', /needs a directory/],
    ['type=oci,dest=-,tar=false', /needs tar=true/],
    ['type=tar,dest=x,tar=false', /has no field "tar"/],
    ['type=oci,dest=x,tar=maybe', /expected true or false/],
    ['type=oci,dest=x,compression=lz4', /compression=lz4: expected gzip, zstd or uncompressed/],
    ['type=docker,dest=x,compression=zstd', /type=docker cannot hold zstd layers/],
    ['type=local,dest=x,compression=zstd', /has no field "compression"/],
  ])('rejects %s', (text, message) => {
    expect(() => parseOutputSpec(text)).toThrow(BuilderError);
    expect(() => parseOutputSpec(text)).toThrow(message);
  });
});
