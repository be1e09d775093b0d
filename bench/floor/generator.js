import Generator from 'yeoman-generator';

/** The framework's floor: a generator that writes one file and nothing else. */
export default class FloorGenerator extends Generator {
  constructor(args, options) {
    super(args, options, { customInstallTask: true });
  }

  writing() {
    this.fs.write(this.destinationPath('floor/one-file.txt'), 'one file\n');
  }
}
