// The interface drivers by name (config interface_driver).
import type { DriverName, InterfaceDriver } from './driver.js';
import { linuxbridge } from './linuxbridge.js';
import { ovs } from './ovs.js';

export type { DriverName, HostSide, InterfaceDriver, PortSide } from './driver.js';

const DRIVERS: Record<DriverName, InterfaceDriver> = { linuxbridge, ovs };

export const driverFor = (name: DriverName): InterfaceDriver => DRIVERS[name];
