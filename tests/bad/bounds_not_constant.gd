param v[2] = 1
param k = 0.5 in (0, v[1])
data x, Y
model y = k*x + v[1]
loss mean((y - Y)^2)
