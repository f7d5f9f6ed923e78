data x[3], z[2], Y
param a
model y = sum(clip(a*x + a*x + a*x + a*x, z, 1000000))
loss mean((y - Y)^2)
